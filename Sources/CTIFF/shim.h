#include <tiffio.h>

/* libtiff's TIFFGetField/TIFFSetField are variadic, which Swift cannot call: these fixed-type
   wrappers are (notes/architecture.md §4.4). Each returns libtiff's 1 (success) or 0. */

static inline int sf_tiff_get_u16(TIFF *tif, uint32_t tag, uint16_t *value) { return TIFFGetField(tif, tag, value); }
static inline int sf_tiff_get_u32(TIFF *tif, uint32_t tag, uint32_t *value) { return TIFFGetField(tif, tag, value); }
static inline int sf_tiff_get_float(TIFF *tif, uint32_t tag, float *value) { return TIFFGetField(tif, tag, value); }
static inline int sf_tiff_get_string(TIFF *tif, uint32_t tag, const char **value) { return TIFFGetField(tif, tag, value); }
static inline int sf_tiff_get_u16_defaulted(TIFF *tif, uint32_t tag, uint16_t *value) { return TIFFGetFieldDefaulted(tif, tag, value); }

static inline int sf_tiff_set_u16(TIFF *tif, uint32_t tag, uint16_t value) { return TIFFSetField(tif, tag, (int)value); }
static inline int sf_tiff_set_u32(TIFF *tif, uint32_t tag, uint32_t value) { return TIFFSetField(tif, tag, value); }
static inline int sf_tiff_set_double(TIFF *tif, uint32_t tag, double value) { return TIFFSetField(tif, tag, value); }
static inline int sf_tiff_set_string(TIFF *tif, uint32_t tag, const char *value) { return TIFFSetField(tif, tag, value); }
static inline int sf_tiff_set_page_number(TIFF *tif, uint16_t page, uint16_t total) {
    return TIFFSetField(tif, TIFFTAG_PAGENUMBER, (int)page, (int)total);
}
