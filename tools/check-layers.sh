#!/usr/bin/env bash
# check-layers.sh — fails when a core layer calls a function of a layer it does not sit on.
# Usage: tools/check-layers.sh BUILD_DIR/core layer:dep,dep layer:dep ...  (from core/CMakeLists.txt)
# Every layer is a static library libattnserve_core_<layer>.a. A symbol that a layer's objects
# use but do not define must be defined in one of the layers below it (its deps, transitively)
# or outside the core (libc, BLAS, jansson, utf8proc); one defined by any other core layer is a
# wrong-way call, reported with the calling object. The include paths catch wrong-way headers;
# this catches calls made through the public tx.h, which every layer sees.
set -euo pipefail
dir=$1
shift
declare -A deps defs
layers=()
for spec in "$@"; do
    layers+=("${spec%%:*}")
    deps[${spec%%:*}]=${spec#*:}
done
for l in "${layers[@]}"; do
    defs[$l]=$(nm -g --defined-only "$dir/libattnserve_core_$l.a" 2>/dev/null |
               awk 'NF == 3 { print $3 }' | sort -u)
done
below() { # the transitive deps of $1, one a line
    local d
    for d in ${deps[$1]//,/ }; do
        echo "$d"
        below "$d"
    done
}
bad=0
for l in "${layers[@]}"; do
    allowed=" $l $(below "$l" | sort -u | tr '\n' ' ')"
    while read -r obj sym; do
        for other in "${layers[@]}"; do
            [[ $allowed == *" $other "* ]] && continue
            if grep -qxF "$sym" <<<"${defs[$other]}"; then
                echo "check-layers: core/$l ($obj) calls $sym of core/$other;" \
                     "$l may use only: ${allowed# }" >&2
                bad=1
            fi
        done
    done < <(nm -u -A "$dir/libattnserve_core_$l.a" | awk '{ split($1, p, ":"); print p[2], $NF }')
done
exit $bad
