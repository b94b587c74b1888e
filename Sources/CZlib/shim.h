// zlib (Debian zlib1g-dev), for gzipped IDX files.
#include <zlib.h>
