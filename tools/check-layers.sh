#!/usr/bin/env bash
# check-layers.sh — fails when a core layer calls a function of a layer it does not sit on.
# Usage: tools/check-layers.sh BUILD_DIR/core layer:dep,dep layer:dep ...  (from core/CMakeLists.txt)
# Every layer is a static library libattnserve_core_<layer>.a. A symbol that a layer's objects
# use but do not define must be defined in one of the layers below it (its deps, transitively)
# or outside the core (libc, BLAS, jansson, utf8proc, ...); one defined by any other core layer
# is a wrong-way call, reported with the calling object. The include paths catch wrong-way
# headers; this catches calls made through the public tx.h, which every layer sees.
set -euo pipefail
dir=$1
shift
{
    # "G layer:deps" lines: the graph; "D layer symbol": definitions; "U layer object symbol"
    for spec in "$@"; do echo "G $spec"; done
    for spec in "$@"; do
        l=${spec%%:*}
        nm -g --defined-only "$dir/libattnserve_core_$l.a" 2>/dev/null |
            awk -v l="$l" 'NF == 3 { print "D", l, $3 }'
        nm -u -A "$dir/libattnserve_core_$l.a" |
            awk -v l="$l" '{ split($1, p, ":"); print "U", l, p[2], $NF }'
    done
} | awk '
    $1 == "G" { split($2, a, ":"); layer = a[1]; deps[layer] = a[2]; order[++n] = layer; next }
    $1 == "D" { owner[$3] = $2; next }
    $1 == "U" { use[++u] = $2 " " $3 " " $4; next }
    function below(l, seen,    d, k, i) { # marks the transitive deps of l in seen
        k = split(deps[l], d, ",")
        for (i = 1; i <= k; i++) if (d[i] != "" && !(d[i] in seen)) { seen[d[i]] = 1; below(d[i], seen) }
    }
    END {
        bad = 0
        for (i = 1; i <= u; i++) {
            split(use[i], f, " ")
            l = f[1]; obj = f[2]; sym = f[3]
            if (!(sym in owner) || owner[sym] == l) continue
            delete seen; seen[l] = 1; below(l, seen)
            if (owner[sym] in seen) continue
            allowed = ""
            for (j = 1; j <= n; j++) if (order[j] in seen) allowed = allowed " " order[j]
            printf "check-layers: core/%s (%s) calls %s of core/%s; %s may use only:%s\n",
                   l, obj, sym, owner[sym], l, allowed > "/dev/stderr"
            bad = 1
        }
        exit bad
    }'
