#!/usr/bin/env bash
# p11-kit: a registration file in the user's config makes the module known to
# `p11-kit list-modules` and to p11-kit-proxy.so, through which pkcs11-tool
# lists the tokens and signs (RSA and EC).  `x-init-reserved:` narrows the
# accounts the module shows.
source "$(dirname "$0")/lib.sh"
mt_setup
add_user alice
add_user carol
# (find fails for the candidate paths that do not exist: the check below decides)
PROXY=$(find /usr/lib/*/p11-kit-proxy.so /usr/lib/p11-kit-proxy.so 2>/dev/null | head -n1 || true)
[ -n "$PROXY" ] || die "p11-kit-proxy.so is not installed"

# Only the user's modules: the system's (OpenSC, trust) would slow and blur the test.
USER_MODULES=$HOME/.config/pkcs11/modules
mkdir -p "$USER_MODULES" "$WORK/no-modules"
echo "user-config: only" >"$HOME/.config/pkcs11/pkcs11.conf"

# p11-kit ignores the user's configuration in a program running as root.  As
# root, the clients run as an unprivileged user of a user namespace; where the
# kernel refuses those (a chroot, most containers) they run in a private mount
# namespace in which the user's module folder stands in for the system's
# (/usr/share/p11-kit/modules, and an empty one for /etc/pkcs11/modules), which
# root's p11-kit reads.  Only where neither works is the test skipped.
SYSTEM_MODULES=/usr/share/p11-kit/modules
MOUNT_PROPAGATION=private
in_mount_ns() { # runs "$@" with the user's modules in place of the system's
    unshare -m --propagation "$MOUNT_PROPAGATION" sh -c '
        mount --bind "$1" "$2" || exit 125
        if [ -d /etc/pkcs11/modules ]; then mount --bind "$3" /etc/pkcs11/modules || exit 125; fi
        shift 3
        exec "$@"' sh "$USER_MODULES" "$SYSTEM_MODULES" "$WORK/no-modules" "$@"
}
# In a chroot the root is no mount point, so unshare cannot make the mounts
# private: the copies then stay as they are, which is safe only when the host
# mount holding the chroot does not share (propagate) mounts with the host.
chroot_mount_private() {
    local root_id
    root_id=$(awk '{ ids[$1] = 1; parents[$2] = 1 }
                   END { for (p in parents) if (!(p in ids)) print p }' /proc/self/mountinfo)
    [ -n "$root_id" ] && [ "$(echo "$root_id" | wc -l)" -eq 1 ] || return 1
    awk -v id="$root_id" '$1 == id { found = 1; for (i = 7; $i != "-"; i++) if ($i ~ /^shared:/) shared = 1 }
                          END { exit !(found && !shared) }' /proc/1/mountinfo 2>/dev/null
}
NS_NOTE="unshare -U and unshare -m refused"
if [ "$(id -u)" -ne 0 ]; then
    AS_USER=plain
elif unshare -U --map-user=1000 --map-group=1000 true 2>/dev/null; then
    AS_USER=userns
elif [ -d "$SYSTEM_MODULES" ] && in_mount_ns true 2>/dev/null; then
    AS_USER=mountns
elif [ -d "$SYSTEM_MODULES" ] && chroot_mount_private &&
    MOUNT_PROPAGATION=unchanged && in_mount_ns true 2>/dev/null; then
    AS_USER=mountns
else
    chroot_mount_private || NS_NOTE="unshare -U refused; in this chroot a bind mount would reach the host's mounts (shared propagation)"
    echo "SKIP: $MT_TEST_NAME: running as root where neither a user namespace nor a private mount" \
        "namespace can be made ($NS_NOTE): p11-kit would ignore the user's module registration"
    exit 77
fi
[ "$AS_USER" != mountns ] ||
    echo "(root without user namespaces: a private mount namespace shows the user's modules as the system's)"
as_user() {
    case $AS_USER in
    plain) client "$@" ;;
    userns) client unshare -U --map-user=1000 --map-group=1000 "$@" ;;
    mountns) client in_mount_ns "$@" ;;
    esac
}
register() { # [x-init-reserved value]
    {
        echo "module: $MODULE"
        [ $# -eq 0 ] || echo "x-init-reserved: $1"
    } >"$USER_MODULES/mailtoken.module"
}
tokens_via_proxy() {
    as_user pkcs11-tool --module "$PROXY" -L 2>&1 | sed -n 's/^[[:space:]]*token label[[:space:]]*: //p' | sort
}
register

step "p11-kit list-modules shows the module and its tokens"
if [ -n "${MT_PRELOAD:-}" ]; then
    # The p11-kit program itself (even `p11-kit --version`) deadlocks on glibc's
    # locale lock when the sanitizer runtime is preloaded; the proxy steps
    # below still check that p11-kit finds the module from its registration.
    echo "(not under the sanitizer build: the p11-kit program hangs with libasan preloaded)"
else
    as_user p11-kit list-modules >"$WORK/modules.txt" 2>&1 ||
        { cat "$WORK/modules.txt" >&2; die "p11-kit list-modules failed"; }
    grep -q "^mailtoken: $MODULE\$" "$WORK/modules.txt" ||
        { cat "$WORK/modules.txt" >&2; die "p11-kit list-modules does not show mailtoken"; }
    for name in alice carol; do
        grep -q "token: $(email_of_user "$name")\$" "$WORK/modules.txt" ||
            { cat "$WORK/modules.txt" >&2; die "p11-kit list-modules does not show the token of $name"; }
    done
fi

step "pkcs11-tool through p11-kit-proxy.so lists the tokens"
printf '%s\n' "$(email_of_user alice)" "$(email_of_user carol)" | sort >"$WORK/expected.txt"
tokens_via_proxy >"$WORK/listed.txt"
diff -u "$WORK/expected.txt" "$WORK/listed.txt" || die "pkcs11-tool -L through the proxy does not list exactly alice and carol"

step "pkcs11-tool signs through the proxy; openssl verifies with the certificate"
printf 'signed through p11-kit\n' >"$WORK/data.txt"
for spec in alice:SHA256-RSA-PKCS carol:ECDSA-SHA256; do
    name=${spec%%:*} mech=${spec#*:}
    email=$(email_of_user "$name")
    as_user pkcs11-tool --module "$PROXY" --token-label "$email" --login --pin "$(pin_of "$email")" \
        --sign -m "$mech" --label "$email" --signature-format openssl \
        -i "$WORK/data.txt" -o "$WORK/$name.sig" >"$WORK/sign.txt" 2>&1 ||
        { cat "$WORK/sign.txt" >&2; die "pkcs11-tool --sign -m $mech through the proxy failed for $email"; }
    openssl x509 -in "$(users_file "$name.crt")" -noout -pubkey >"$WORK/$name.pub"
    openssl dgst -sha256 -verify "$WORK/$name.pub" -signature "$WORK/$name.sig" "$WORK/data.txt" >/dev/null ||
        die "the $mech signature made through the proxy for $email does not verify"
done

step "x-init-reserved in the registration file selects the accounts"
register "emails=carol@*"
echo "$(email_of_user carol)" >"$WORK/expected.txt"
tokens_via_proxy >"$WORK/listed.txt"
diff -u "$WORK/expected.txt" "$WORK/listed.txt" || die "x-init-reserved: emails=carol@* did not select carol's token only"
echo "PASS: $MT_TEST_NAME"
