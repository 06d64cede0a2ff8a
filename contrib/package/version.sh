#!/bin/sh
# Prints diskwatch's upstream version from git (the package adds its
# revision): 1.2.0 on tag v1.2.0; 1.2.0+3.g1a2b3c4 three commits later;
# 0.0.0+git20261203.1a2b3c4 while no v* tag exists; ".dirty" appended when
# the tree has uncommitted changes. Debian and RPM order these correctly.
set -e
cd "$(dirname "$0")/../.."
sha=$(git rev-parse --short=7 HEAD 2>/dev/null) || { echo 0.0.0+unknown; exit 0; }
if d=$(git describe --tags --match 'v[0-9]*' --long 2>/dev/null); then
	# v1.2.0-3-g1a2b3c4
	tag=${d%-*-g*}; rest=${d#"$tag"-}; n=${rest%%-*}
	v=${tag#v}
	[ "$n" = 0 ] || v="$v+$n.g$sha"
else
	v="0.0.0+git$(TZ=UTC git log -1 --date=format-local:%Y%m%d --format=%cd).$sha"
fi
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	v="$v.dirty"
fi
echo "$v"
