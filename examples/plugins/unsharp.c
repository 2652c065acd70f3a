/* unsharp: an unsharp mask, a stage with a halo. Each voxel v becomes
 *   v + amount * (v - mean of the (2 radius + 1)^3 box around it),
 * sharpening edges. The host gives each box with `radius` voxels of context on every side
 * (repeating the edge voxel past the volume's faces), so the result does not depend on how the
 * volume was cut into boxes. Thread-safe, no scratch memory.
 *
 *   cc -shared -fPIC -O2 -I Sources/CStdioFilterPlugin/include -o unsharp.so examples/plugins/unsharp.c
 *   stdio-filter --plugin ./unsharp.so run --chain "gaussian:sigma=1,unsharp:radius=2:amount=1.5" in.mrc out.mrc
 */
#include <stdio.h>
#include <stdlib.h>
#include "stdio_filter_plugin.h"

typedef struct { int radius; double amount; } unsharp_state;

static int validate(const char *const *values, char *error, size_t error_capacity) {
    /* The host already checked the ranges; a plugin can refuse combinations here. */
    if (atoi(values[0]) == 0 && strtod(values[1], NULL) != 0) {
        snprintf(error, error_capacity, "radius 0 has no neighbourhood to sharpen against (give radius >= 1 or amount 0)");
        return 1;
    }
    return 0;
}

static int create(const char *const *values, const sf_geometry *input, sf_geometry *output,
                  int32_t halo[3], void **state, char *error, size_t error_capacity) {
    unsharp_state *s = malloc(sizeof *s);
    if (!s) { snprintf(error, error_capacity, "out of memory"); return 1; }
    s->radius = atoi(values[0]);
    s->amount = strtod(values[1], NULL);
    *output = *input;
    halo[0] = halo[1] = halo[2] = s->radius;
    *state = s;
    return 0;
}

static int process(void *state, const float *input, const sf_box *input_box,
                   float *output, const sf_box *output_box, char *error, size_t error_capacity) {
    const unsharp_state *s = state;
    const int r = s->radius;
    const int64_t ix = input_box->size[0], iy = input_box->size[1];
    const int64_t ox = output_box->size[0], oy = output_box->size[1], oz = output_box->size[2];
    const double count = (double)(2 * r + 1) * (2 * r + 1) * (2 * r + 1);
    (void)error; (void)error_capacity;
    for (int64_t z = 0; z < oz; z++)
        for (int64_t y = 0; y < oy; y++)
            for (int64_t x = 0; x < ox; x++) {
                /* Output voxel (x, y, z) is input voxel (x + r, y + r, z + r). */
                double sum = 0;
                for (int dz = -r; dz <= r; dz++)
                    for (int dy = -r; dy <= r; dy++) {
                        const float *row = input + ((z + r + dz) * iy + (y + r + dy)) * ix + x + r;
                        for (int dx = -r; dx <= r; dx++) sum += row[dx];
                    }
                double v = input[((z + r) * iy + (y + r)) * ix + x + r];
                output[(z * oy + y) * ox + x] = (float)(v + s->amount * (v - sum / count));
            }
    return 0;
}

static void destroy(void *state) { free(state); }

static const sf_parameter parameters[] = {
    {"radius", SF_PARAMETER_INTEGER, "1", "voxels", 0, 8, NULL, "half-width of the box the voxel is compared with"},
    {"amount", SF_PARAMETER_NUMBER, "1", "", 0, 10, NULL, "how much of the difference to the box mean is added"},
};

static const sf_stage stages[] = {{
    "unsharp", "unsharp mask: v + amount * (v - mean of the box of radius r around v)",
    parameters, 2, /* thread_safe */ 1, /* working_bytes_per_voxel */ 0,
    validate, create, process, destroy,
}};

static const sf_plugin plugin = {SF_PLUGIN_ABI_VERSION, 1, stages};

const sf_plugin *stdio_filter_plugin(void) { return &plugin; }
