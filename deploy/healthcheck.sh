#!/bin/bash
# healthcheck.sh — the container's HEALTHCHECK: GET /healthz on the local port through bash's
# /dev/tcp (the slim image has no curl). Exit 0 when the server answers HTTP 200.
port=${ATTNSERVE_PORT:-8080}
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
IFS= read -r -t 5 status <&3 || exit 1
[[ $status == HTTP/1.[01]\ 200* ]]
