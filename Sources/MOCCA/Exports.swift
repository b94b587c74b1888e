// `import MOCCA` is the one import a user of the method needs: the data sources and the
// network registry are part of its API.
@_exported import MOCCAData
@_exported import MOCCAModels
