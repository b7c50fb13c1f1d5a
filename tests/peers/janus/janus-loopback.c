/* LD_PRELOAD shim that lets Janus gather ICE host candidates on loopback.
 *
 * Janus (src/ice.c, janus_ice_setup_local, 1.1.2 and later alike) walks getifaddrs() and skips
 * every interface flagged IFF_LOOPBACK before it looks at ice_enforce_list, so "lo" can never be
 * enforced; with nothing added, libnice enumerates interfaces itself and skips loopback too, so
 * Janus either gathers the machine's other addresses or fails with "Error gathering candidates".
 * This shim wraps getifaddrs() and clears IFF_LOOPBACK on the entries it returns, so Janus (run
 * with ice_enforce_list = "lo") adds 127.0.0.1 as its one local address. Only the process it is
 * preloaded into is affected; nothing about the machine's interfaces changes.
 *
 * Built by .ci/install-janus:  cc -shared -fPIC -O2 -o janus-loopback.so janus-loopback.c -ldl
 * Used as:                     LD_PRELOAD=/usr/local/lib/rtccall-janus/janus-loopback.so janus ...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stddef.h>

int getifaddrs(struct ifaddrs **ifap) {
	static int (*real_getifaddrs)(struct ifaddrs **) = NULL;
	if (real_getifaddrs == NULL)
		real_getifaddrs = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
	if (real_getifaddrs == NULL)
		return -1;
	int ret = real_getifaddrs(ifap);
	if (ret == 0 && ifap != NULL) {
		for (struct ifaddrs *ifa = *ifap; ifa != NULL; ifa = ifa->ifa_next)
			ifa->ifa_flags &= ~(unsigned int)IFF_LOOPBACK;
	}
	return ret;
}
