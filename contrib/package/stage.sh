#!/bin/sh
# Stages OUT (build/pkg) for nfpm, which runs there with
# contrib/package/nfpm.yaml: `make package` runs it after building
# BINDIR/diskwatch and BINDIR/diskwatch-zabbix with the package version.
# Environment: GO, VERSION (the package version, e.g.
# 0.0.0+git20261203.1a2b3c4-1), MAINTAINER, ZABBIX_CONF, BINDIR, OUT.
set -eu
cd "$(dirname "$0")/../.."
: "${GO:=go}" "${VERSION:?}" "${MAINTAINER:?}" "${ZABBIX_CONF:=contrib/zabbix/userparameter_diskwatch.conf}"
: "${BINDIR:=bin}" "${OUT:=build/pkg}"
out=$OUT
bin=$BINDIR
rm -rf "$out"
mkdir -p "$out/doc/examples/zabbix" "$out/man/man5" "$out/man/man8"
# Dates come from the commit, so a rebuild of one commit gives the same files.
epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH="$epoch"
gz() { gzip -9n <"$1" >"$2"; }

cp "$bin/diskwatch" "$bin/diskwatch-zabbix" "$out/"
mkdir -p "$out/scripts"
cp contrib/systemd/diskwatch.service contrib/package/lintian-overrides "$out/"
cp contrib/package/postinst contrib/package/prerm contrib/package/postrm contrib/package/rpm-* "$out/scripts/"
"$GO" run ./cmd/diskwatch/internal/docgen -bin "$bin/diskwatch" -zabbix-bin "$bin/diskwatch-zabbix" \
	-version "$VERSION" -out "$out/docs"
gz "$out/docs/diskwatch.8" "$out/man/man8/diskwatch.8.gz"
gz "$out/docs/diskwatch-zabbix.8" "$out/man/man8/diskwatch-zabbix.8.gz"
gz "$out/docs/diskwatch.yaml.5" "$out/man/man5/diskwatch.yaml.5.gz"

# The conffile: the built-in default, every section commented.
DISKWATCH_CONFIG= "$bin/diskwatch" config default >"$out/diskwatch.yaml"
"$bin/diskwatch" config check "$out/diskwatch.yaml" >/dev/null
# The agent snippet names the binaries where the package puts them.
sed 's#/usr/local/bin/diskwatch#/usr/sbin/diskwatch#g' "$ZABBIX_CONF" >"$out/userparameter_diskwatch.conf"

gz README.md "$out/doc/README.md.gz"
git log --date=short --format='%ad %h %s' 2>/dev/null | gzip -9n >"$out/doc/changelog.gz"
cp contrib/diskwatch.example.yaml "$out/doc/examples/"
cp contrib/cron/diskwatch "$out/doc/examples/cron.d-diskwatch"
for f in contrib/zabbix/*; do
	[ "$f" = "$ZABBIX_CONF" ] || cp "$f" "$out/doc/examples/zabbix/"
done

date=$(LC_ALL=C date -u -R -d "@$epoch")
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
{
	echo "diskwatch ($VERSION) unstable; urgency=medium"
	echo
	echo "  * Built from git commit $commit."
	echo "    The project's history is in changelog.gz beside this file."
	echo
	echo " -- $MAINTAINER  $date"
} | gzip -9n >"$out/changelog.Debian.gz"

{
	cat contrib/package/copyright
	echo
	echo "The binaries embed these Go modules (licenses in each module's source):"
	"$GO" version -m "$bin/diskwatch" "$bin/diskwatch-zabbix" | awk '$1 == "dep" { print " " $2 " " $3 }' | sort -u
} >"$out/copyright"
