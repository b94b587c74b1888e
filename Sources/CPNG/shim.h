// libpng's simplified API (Debian libpng-dev): decoding without setjmp.
#include <png.h>
