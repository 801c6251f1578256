#include "core/interrupt.hpp"

#include <csignal>
#include <unistd.h>

namespace bb {
namespace {
volatile std::sig_atomic_t g_flag = 0;

extern "C" void on_signal(int sig) {
  if (g_flag) _exit(128 + sig);  // second signal: leave now
  g_flag = 1;
}
}  // namespace

void install_interrupt_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool interrupt_requested() { return g_flag != 0; }
void clear_interrupt() { g_flag = 0; }
void request_interrupt() { g_flag = 1; }

}  // namespace bb
