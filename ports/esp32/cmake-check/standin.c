// Stand-in for the MicroPython firmware: references the Rust core's entry point so the
// link step pulls the staticlib in.
extern void *picoredis_client_new(const void *type, const void *opts);
int main(void) {
    return picoredis_client_new != 0 ? 0 : 1;
}
