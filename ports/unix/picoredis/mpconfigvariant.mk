# The picoredis unix variant (mpconfigvariant.h says why). ports/unix/unix.mk names the
# frozen manifest.
