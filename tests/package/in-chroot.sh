#!/usr/bin/env bash
# Run by make-chroot.sh beside a fresh Debian 12 ($MT_CHROOT): what an
# administrator does with the packages of DEBDIR, in docs/install.md's order.
#   install (apt-get install ./...deb): the module registered with p11-kit, the
#     service account and /var/lib/mailtoken, the conffile, no unit enabled;
#   the first store as the service account, an import, the token through
#     p11-kit-proxy.so, the units pass systemd-analyze verify;
#   upgrade (reinstall) with the renewal timer enabled: it stays enabled;
#   remove: the programs go, the store, the configuration and the account stay;
#   purge: the account and the configuration go, the store stays, and no
#     other file is left.
#   usage: in-chroot.sh DEBDIR   (MT_CHROOT, MT_TESTDATA set)
set -euo pipefail
DEBS=${1:?usage: in-chroot.sh DEBDIR}
ROOT=${MT_CHROOT:?MT_CHROOT is not set: run through tests/chroot/make-chroot.sh}
: "${MT_TESTDATA:?MT_TESTDATA is not set}"
. "$(dirname "$0")/lib.sh"

PROXY=/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so
STORE=/var/lib/mailtoken/store.db
SO_PIN=so-secret-pin-1
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# A command in the chroot with a clean environment, as root or as the service account.
in_root() {
    chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive "$@"
}
as_service() { in_root runuser -u mailtoken -- "$@"; }
# Runs a command in the chroot; on failure shows its output and fails with WHY.
must() { # WHY COMMAND...
    local why=$1
    shift
    "$@" >"$WORK/out" 2>&1 || { cat "$WORK/out" >&2; fail "$why"; }
}
apt() { must "apt-get $*" in_root apt-get -y -q "$@"; }
installed_packages() { in_root dpkg-query -W -f '${Package}\n' | sort; }
store_hash() { in_root sha256sum "$STORE" | cut -d' ' -f1; }
# The files of the system (names; /etc also by content), but for what apt,
# dpkg and the kernel change on every run, root's home (the clients this test
# runs as root keep caches there), and the previous versions of the account
# files that the shadow tools keep on every change (/etc/passwd- ...).
snapshot() {
    in_root find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
        -o -path /var/cache -o -path /var/log -o -path /var/lib/apt/lists -o -path /root \) \
        -prune -o -print | sort >"$1"
    in_root find /etc -xdev -type f ! -name '*-' -exec sha256sum {} + | sort >>"$1"
}
registered_modules() { in_root p11-kit list-modules 2>&1; }

mkdir -p "$ROOT/tmp/debs" "$ROOT/tmp/import"
cp "$(ls "$DEBS"/mailtoken_*.deb)" "$(ls "$DEBS"/mailtoken-pkcs11_*.deb)" "$ROOT/tmp/debs/"
DEB_FILES=$(cd "$ROOT" && ls tmp/debs/*.deb | sed 's|^|/|')
OURS="mailtoken mailtoken-pkcs11"

step "chroot: dependencies of the packages (apt-get satisfy, from the archive)"
deps=()
for deb in $DEB_FILES; do
    for field in Depends Recommends; do
        value=$(dpkg-deb -f "$ROOT$deb" "$field" | tr ',' '\n' | sed 's/^ *//' |
            sed -E '/^(mailtoken|mailtoken-pkcs11)( |$)/d' | paste -sd,)
        [ -z "$value" ] || deps+=("$value")
    done
done
apt satisfy "${deps[@]}"
snapshot "$WORK/files-before"
installed_packages >"$WORK/packages-before"

step "install: apt-get install ./mailtoken*.deb"
apt install $DEB_FILES
installed_packages >"$WORK/packages-after"
added=$(comm -13 "$WORK/packages-before" "$WORK/packages-after" | paste -sd' ')
[ "$added" = "$OURS" ] || fail "apt-get install added \"$added\", expected \"$OURS\""
version=$(dpkg-deb -f "$ROOT$(grep /mailtoken_ <<<"$DEB_FILES")" Version)
[ "$(in_root mailtoken --version)" = "mailtoken ${version%%-*}" ] ||
    fail "mailtoken --version says \"$(in_root mailtoken --version)\", the package is $version"
passwd=$(in_root getent passwd mailtoken) || fail "no mailtoken user after installation"
IFS=: read -r _ _ uid _ _ home shell <<<"$passwd"
if [ "$uid" -ge 1000 ] || [ "$home" != /var/lib/mailtoken ] || [ "$shell" != /usr/sbin/nologin ]; then
    fail "the mailtoken user is not a system account at home in /var/lib/mailtoken: $passwd"
fi
in_root getent group mailtoken >/dev/null || fail "no mailtoken group after installation"
[ "$(in_root stat -c '%U:%G %a' /var/lib/mailtoken)" = "mailtoken:mailtoken 750" ] ||
    fail "/var/lib/mailtoken is $(in_root stat -c '%U:%G %a' /var/lib/mailtoken), expected mailtoken:mailtoken 750"
grep -q '^ /etc/mailtoken/mailtoken.conf ' <<<"$(in_root dpkg-query -W -f '${Conffiles}\n' mailtoken)" ||
    fail "/etc/mailtoken/mailtoken.conf is not a conffile"
UNITS=$(in_root dpkg -L mailtoken | grep -E '^/lib/systemd/system/[^/]+\.(service|socket|timer|path|target)$')
grep -q '/mailtoken-renew.timer$' <<<"$UNITS" || fail "the renewal timer is not installed"
USER_UNITS=$(in_root dpkg -L mailtoken | grep -E '^/usr/lib/systemd/user/[^/]+\.(service|socket|timer|path|target)$')
grep -q '/mailtoken-p11-link.service$' <<<"$USER_UNITS" || fail "the p11-link user unit is not installed"
for unit in $UNITS; do
    state=$(in_root systemctl is-enabled "${unit##*/}" 2>&1) || : # exit 1: not enabled
    case $state in
        disabled | static) ;;
        *) fail "${unit##*/} is \"$state\" after installation: nothing may be enabled unasked" ;;
    esac
done
[ -z "$(in_root find /etc/systemd -name 'mailtoken*')" ] || fail "installation enabled a unit"
registered_modules >"$WORK/modules"
grep -q '^mailtoken: ' "$WORK/modules" ||
    { cat "$WORK/modules" >&2; fail "p11-kit list-modules does not show the mailtoken module"; }
[ -f "$ROOT/usr/share/man/man1/mailtoken.1.gz" ] || fail "no man page"
completed=$(in_root bash -c '. /usr/share/bash-completion/completions/mailtoken
    COMP_WORDS=(mailtoken ce); COMP_CWORD=1; _mailtoken; echo "${COMPREPLY[*]}"')
[ "$completed" = cert ] || fail "bash completes \"mailtoken ce\" to \"$completed\", expected cert"

step "first store: mailtoken init and an import as the service account, the token through p11-kit-proxy"
for name in alice bob; do
    cp "$MT_TESTDATA/users/$name.p12" "$MT_TESTDATA/users/$name.pass" "$ROOT/tmp/import/"
done
in_root chown -R mailtoken:mailtoken /tmp/import
in_root chmod 0600 /tmp/import/alice.pass /tmp/import/bob.pass
must "mailtoken init as the service account" as_service env MAILTOKEN_SO_PIN="$SO_PIN" \
    mailtoken init --org example
[ "$(in_root stat -c '%U %a' "$STORE")" = "mailtoken 600" ] ||
    fail "the default system store $STORE is not the service account's, 0600: $(in_root stat -c '%U %a' "$STORE" 2>&1)"
must "mailtoken cert import as the service account" as_service \
    mailtoken cert import --account auto --password-file /tmp/import/alice.pass /tmp/import/alice.p12
alice=$(awk -F'\t' '$1 == "alice" { print $2 }' "$MT_TESTDATA/manifest.tsv")
registered_modules >"$WORK/modules"
grep -q "token: $alice\$" "$WORK/modules" ||
    { cat "$WORK/modules" >&2; fail "p11-kit list-modules does not show the token of $alice"; }
must "pkcs11-tool -L through p11-kit-proxy.so" in_root pkcs11-tool --module "$PROXY" -L
grep -Eq "token label +: $alice\$" "$WORK/out" ||
    { cat "$WORK/out" >&2; fail "pkcs11-tool through p11-kit-proxy.so does not list the token of $alice"; }
# root reading the store left nothing the service account cannot write.
others=$(in_root find /var/lib/mailtoken ! -user mailtoken)
[ -z "$others" ] || fail "files in /var/lib/mailtoken not owned by mailtoken after root's read: $others"
must "the service account imports after root used the module" as_service \
    mailtoken cert import --account auto --password-file /tmp/import/bob.pass /tmp/import/bob.p12

step "units: systemd-analyze verify, the renewal service's commands"
# (user units too: checked as unit files, the chroot runs no user manager)
for unit in $UNITS $USER_UNITS; do
    # --man=no: the chroot has no man-db to look up Documentation= pages.
    must "systemd-analyze verify ${unit##*/}" in_root systemd-analyze verify --man=no "$unit"
    [ ! -s "$WORK/out" ] || { cat "$WORK/out" >&2; fail "systemd-analyze verify ${unit##*/} has complaints"; }
done

# The renewal service's commands, as its user with its environment: nothing
# to renew in this store, so each must succeed.
RENEW_UNIT=/lib/systemd/system/mailtoken-renew.service
grep -qx 'User=mailtoken' "$ROOT$RENEW_UNIT" || fail "$RENEW_UNIT does not run as the mailtoken user"
service_env=()
while IFS= read -r line; do
    case $line in
        Environment=*) service_env+=("${line#Environment=}") ;;
        ExecStart=*)
            command=${line#ExecStart=}
            # shellcheck disable=SC2086 # the unit's command line, split as systemd does
            must "$RENEW_UNIT: ${command#-} as the service account" \
                as_service env "${service_env[@]}" ${command#-}
            ;;
    esac
done <"$ROOT$RENEW_UNIT"

step "upgrade: the renewal timer enabled, then the packages reinstalled"
must "systemctl enable mailtoken-renew.timer" in_root systemctl enable mailtoken-renew.timer
hash=$(store_hash)
apt install --reinstall $DEB_FILES
[ "$(in_root systemctl is-enabled mailtoken-renew.timer)" = enabled ] ||
    fail "the renewal timer the administrator enabled is no longer enabled after an upgrade"
[ "$(store_hash)" = "$hash" ] || fail "an upgrade changed the store"
[ "$(in_root stat -c '%U:%G %a' /var/lib/mailtoken)" = "mailtoken:mailtoken 750" ] ||
    fail "an upgrade changed /var/lib/mailtoken to $(in_root stat -c '%U:%G %a' /var/lib/mailtoken)"

step "remove: programs gone; store, configuration and account kept"
apt remove $OURS
for f in /usr/bin/mailtoken /usr/share/p11-kit/modules/mailtoken.module; do
    [ ! -e "$ROOT$f" ] || fail "$f is still there after remove"
done
registered_modules >"$WORK/modules"
! grep -q '^mailtoken: ' "$WORK/modules" || fail "p11-kit still lists the module after remove"
[ -f "$ROOT/etc/mailtoken/mailtoken.conf" ] || fail "remove deleted the configuration"
in_root getent passwd mailtoken >/dev/null || fail "remove deleted the service account"
[ "$(store_hash)" = "$hash" ] || fail "remove changed the store"

step "purge: account and configuration gone, the store kept, nothing else left"
# (the service account's home: the store, and its record of the keys it seals
# to, .local/share/mailtoken/known-keys)
in_root find /var/lib/mailtoken -mindepth 1 | sort >"$WORK/store-files"
apt purge $OURS
! in_root getent passwd mailtoken >/dev/null || fail "purge left the mailtoken user"
! in_root getent group mailtoken >/dev/null || fail "purge left the mailtoken group"
[ "$(store_hash)" = "$hash" ] || fail "purge changed the store"
snapshot "$WORK/files-after"
{ echo /var/lib/mailtoken; cat "$WORK/store-files"; } | sort >"$WORK/expected-new"
comm -13 "$WORK/files-before" "$WORK/files-after" >"$WORK/new"
diff -u "$WORK/expected-new" "$WORK/new" >&2 ||
    fail "after purge the system differs from before the installation by more than the store (+ above)"
comm -23 "$WORK/files-before" "$WORK/files-after" >"$WORK/gone"
[ ! -s "$WORK/gone" ] || { cat "$WORK/gone" >&2; fail "after purge these files differ or are missing"; }
step_done
