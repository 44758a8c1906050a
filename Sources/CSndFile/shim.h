// CSndFile: the system header, imported as is.
#include <sndfile.h>
