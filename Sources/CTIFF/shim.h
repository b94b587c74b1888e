// libtiff (Debian libtiff-dev), read from memory: the stream callbacks, the error
// capture and the variadic TIFFGetField calls that Swift cannot make, as static inline
// functions compiled with the module.
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <tiffio.h>

/// A TIFF file's bytes being read, and libtiff's first error message about it.
typedef struct {
    const unsigned char *data;
    uint64_t size;
    uint64_t offset;
    char message[512];
} mocca_tiff_memory;

static inline tmsize_t mocca_tiff_read(thandle_t handle, void *buffer, tmsize_t count) {
    mocca_tiff_memory *memory = (mocca_tiff_memory *)handle;
    if (count <= 0 || memory->offset >= memory->size) return 0;
    uint64_t available = memory->size - memory->offset;
    size_t n = (uint64_t)count < available ? (size_t)count : (size_t)available;
    memcpy(buffer, memory->data + memory->offset, n);
    memory->offset += n;
    return (tmsize_t)n;
}

static inline tmsize_t mocca_tiff_write(thandle_t handle, void *buffer, tmsize_t count) {
    (void)handle; (void)buffer; (void)count;
    return -1;
}

static inline toff_t mocca_tiff_seek(thandle_t handle, toff_t offset, int whence) {
    mocca_tiff_memory *memory = (mocca_tiff_memory *)handle;
    uint64_t base = whence == SEEK_CUR ? memory->offset : whence == SEEK_END ? memory->size : 0;
    // Past the end is allowed (reads there return nothing); toff_t arithmetic wraps for
    // negative offsets, as lseek's would subtract.
    memory->offset = base + offset;
    return memory->offset;
}

static inline int mocca_tiff_close(thandle_t handle) { (void)handle; return 0; }

static inline toff_t mocca_tiff_size(thandle_t handle) { return ((mocca_tiff_memory *)handle)->size; }

static inline int mocca_tiff_map(thandle_t handle, void **base, toff_t *size) {
    (void)handle; (void)base; (void)size;
    return 0;
}

static inline void mocca_tiff_unmap(thandle_t handle, void *base, toff_t size) { (void)handle; (void)base; (void)size; }

/// Keeps libtiff's first error message, instead of printing it.
static inline int mocca_tiff_error(TIFF *tiff, void *user, const char *module, const char *format, va_list arguments) {
    (void)tiff; (void)module;
    mocca_tiff_memory *memory = (mocca_tiff_memory *)user;
    if (memory->message[0] == 0) vsnprintf(memory->message, sizeof memory->message, format, arguments);
    return 1;
}

/// Silences libtiff's warnings (unknown tags and the like).
static inline int mocca_tiff_warning(TIFF *tiff, void *user, const char *module, const char *format, va_list arguments) {
    (void)tiff; (void)user; (void)module; (void)format; (void)arguments;
    return 1;
}

/// Opens the TIFF in `memory` for reading, with no single allocation above `max_allocation` bytes.
static inline TIFF *mocca_tiff_open(mocca_tiff_memory *memory, tmsize_t max_allocation) {
    TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
    if (!options) return NULL;
    TIFFOpenOptionsSetErrorHandlerExtR(options, mocca_tiff_error, memory);
    TIFFOpenOptionsSetWarningHandlerExtR(options, mocca_tiff_warning, memory);
    TIFFOpenOptionsSetMaxSingleMemAlloc(options, max_allocation);
    TIFF *tiff = TIFFClientOpenExt("memory", "rm", (thandle_t)memory, mocca_tiff_read, mocca_tiff_write,
                                   mocca_tiff_seek, mocca_tiff_close, mocca_tiff_size, mocca_tiff_map,
                                   mocca_tiff_unmap, options);
    TIFFOpenOptionsFree(options);
    return tiff;
}

/// The first image's width and height; 0 when a tag is missing.
static inline int mocca_tiff_dimensions(TIFF *tiff, uint32_t *width, uint32_t *height) {
    return TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, width) == 1 && TIFFGetField(tiff, TIFFTAG_IMAGELENGTH, height) == 1;
}

/// The first image's compression scheme, samples per pixel and bits per sample (libtiff's
/// defaults where a tag is absent).
static inline void mocca_tiff_format(TIFF *tiff, uint16_t *compression, uint16_t *samples, uint16_t *bits) {
    TIFFGetFieldDefaulted(tiff, TIFFTAG_COMPRESSION, compression);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLESPERPIXEL, samples);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_BITSPERSAMPLE, bits);
}
