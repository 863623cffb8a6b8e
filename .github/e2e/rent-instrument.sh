#!/usr/bin/env bash
# The rent-an-instrument scenario against running services (kind in e2e.yml, or docker compose):
# register a student and an instrument, rent it, and poll the rental until the saga
# confirms it. Exits non-zero, with the rental's saga history, if it does not within TIMEOUT seconds.
# SOUNDGOOD_TOKEN is a staff bearer token of the issuer the services trust (docs/security.md); with
# docker compose: SOUNDGOOD_TOKEN="$(docker compose exec -T issuer node
# events/runtime/dist/auth/dev-issuer.cli.js token --staff)".
#
#   .github/e2e/rent-instrument.sh [RENTALS_URL] [STUDENTS_URL] [INVENTORY_URL]
set -euo pipefail
: "${SOUNDGOOD_TOKEN:?a staff bearer token is required (docs/security.md)}"
auth="Authorization: Bearer $SOUNDGOOD_TOKEN"

rentals="${1:-http://localhost:3000}"
students="${2:-http://localhost:3001}"
inventory="${3:-http://localhost:3002}"
timeout="${TIMEOUT:-120}"

student_id="$(cat /proc/sys/kernel/random/uuid)"
instrument_id="$(cat /proc/sys/kernel/random/uuid)"
curl --fail-with-body --silent --show-error --output /dev/null -X POST "$students/students" \
  -H "$auth" -H 'Content-Type: application/json' \
  -d "{\"id\": \"$student_id\", \"name\": \"E2E Student\", \"email\": \"$student_id@soundgood.test\"}"
curl --fail-with-body --silent --show-error --output /dev/null -X POST "$inventory/instruments" \
  -H "$auth" -H 'Content-Type: application/json' \
  -d "{\"id\": \"$instrument_id\", \"type\": \"guitar\", \"brand\": \"Yamaha\", \"monthlyFeeCents\": 2500, \"currency\": \"EUR\"}"
echo "student $student_id rents instrument $instrument_id"

headers="$(mktemp)"
curl --fail-with-body --silent --show-error -X POST "$rentals/rentals" -D "$headers" -o /dev/null \
  -H "$auth" -H 'Content-Type: application/json' -H "Idempotency-Key: e2e-$student_id" \
  -d "{\"studentId\": \"$student_id\", \"instrumentId\": \"$instrument_id\", \"months\": 3}"
grep -q '^HTTP/[0-9.]* 202' "$headers" || { cat "$headers"; exit 1; }
location="$(grep -i '^location:' "$headers" | tr -d '\r' | cut -d' ' -f2)"
case "$location" in
  http*) rental="$location" ;;
  *) rental="$rentals$location" ;;
esac
echo "accepted: $rental"

deadline=$((SECONDS + timeout))
while ((SECONDS < deadline)); do
  status="$(curl --fail-with-body --silent --show-error -H "$auth" "$rental" | jq -r .status)"
  echo "status: $status"
  case "$status" in
    CONFIRMED) exit 0 ;;
    REJECTED | FAILED) break ;;
  esac
  sleep 2
done
curl --silent --show-error -H "$auth" "$rental" | jq .
exit 1
