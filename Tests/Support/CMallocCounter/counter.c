#include "malloc_counter.h"
