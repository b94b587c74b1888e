// oneDNN 2.x C API (Debian libdnnl-dev). The include path is the system default.
#include <oneapi/dnnl/dnnl.h>
