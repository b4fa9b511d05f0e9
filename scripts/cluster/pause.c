/* The pod sandbox's process for the local cluster's real pods (scripts/cluster.sh): it holds the
 * pod's namespaces and does nothing else until it is told to stop. Built with `gcc -static`. */
#include <signal.h>
#include <unistd.h>

static void stop(int sig) { (void)sig; _exit(0); }

int main(void) {
    signal(SIGINT, stop);
    signal(SIGTERM, stop);
    for (;;) pause();
}
