#pragma once
// Ctrl-C (SIGINT) and SIGTERM set a flag that long loops poll between steps,
// so they can finish the step, save, and exit cleanly. A second Ctrl-C while
// the flag is set exits at once.
namespace bb {

void install_interrupt_handler();
bool interrupt_requested();
void clear_interrupt();
void request_interrupt();  // for tests

}  // namespace bb
