// CSoxr: the system header, imported as is.
#include <soxr.h>
