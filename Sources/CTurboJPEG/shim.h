// libjpeg-turbo's TurboJPEG API (Debian libturbojpeg0-dev): decoding without setjmp.
#include <turbojpeg.h>
