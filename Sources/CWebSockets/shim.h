// CWebSockets: the system header, imported as is.
#include <libwebsockets.h>
