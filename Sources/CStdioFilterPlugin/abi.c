/* The C target that carries stdio_filter_plugin.h for the host; plugins only need the header. */
#include "stdio_filter_plugin.h"
