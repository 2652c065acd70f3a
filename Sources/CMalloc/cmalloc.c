/* The header is all there is: this file makes CMalloc a C target. */
