/* The scenarios, in the order a client meets a module. */
#include "p11diff.h"

const p11d_scenario p11d_scenarios[] = {
    { "general", false, p11d_scn_general },
    { "slot", true, p11d_scn_slot },
    { "mechanisms", true, p11d_scn_mechanisms },
    { "session", true, p11d_scn_session },
    { "login", true, p11d_scn_login },
    { "find", true, p11d_scn_find },
    { "attributes", true, p11d_scn_attributes },
    { "sign", true, p11d_scn_sign },
    { "decrypt", true, p11d_scn_decrypt },
    { "digest_random", true, p11d_scn_digest_random },
    { "write", true, p11d_scn_write },
    { "finalize", false, p11d_scn_finalize },
};

const size_t p11d_n_scenarios = sizeof(p11d_scenarios) / sizeof(p11d_scenarios[0]);
