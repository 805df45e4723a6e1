// usleep() with the GIL let go while it sleeps (mpconfigvariant.h says why): the unix port's
// mp_hal_delay_us() calls it with the GIL held.
#include "py/mpconfig.h"
#include "py/mpthread.h"

#undef usleep

int picoredis_usleep_without_gil(unsigned int us) {
    MP_THREAD_GIL_EXIT();
    int r = usleep(us);
    MP_THREAD_GIL_ENTER();
    return r;
}
