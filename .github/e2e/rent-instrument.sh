#!/usr/bin/env bash
# The rent-an-instrument scenario against running services (kind in e2e.yml, or docker compose):
# register a student, pick an available instrument, rent it, and poll the rental until the saga
# confirms it. Exits non-zero, with the rental's saga history, if it does not within TIMEOUT seconds.
#
#   .github/e2e/rent-instrument.sh [RENTALS_URL] [STUDENTS_URL] [INVENTORY_URL]
set -euo pipefail

rentals="${1:-http://localhost:3000}"
students="${2:-http://localhost:3001}"
inventory="${3:-http://localhost:3002}"
timeout="${TIMEOUT:-120}"

student_id="$(curl --fail-with-body --silent --show-error -X POST "$students/students" \
  -H 'Content-Type: application/json' \
  -d "{\"name\": \"E2E Student\", \"email\": \"e2e-$(date +%s)@example.com\"}" | jq -r .id)"
instrument_id="${INSTRUMENT_ID:-$(curl --fail-with-body --silent --show-error "$inventory/instruments" |
  jq -r '[.[] | select(.status == "AVAILABLE")][0].id')}"
echo "student $student_id rents instrument $instrument_id"

headers="$(mktemp)"
curl --fail-with-body --silent --show-error -X POST "$rentals/rentals" -D "$headers" -o /dev/null \
  -H 'Content-Type: application/json' -H "Idempotency-Key: e2e-$student_id" \
  -d "{\"studentId\": \"$student_id\", \"instrumentId\": \"$instrument_id\", \"months\": 3}"
grep -q '^HTTP/[0-9.]* 202' "$headers" || { cat "$headers"; exit 1; }
location="$(grep -i '^location:' "$headers" | tr -d '\r' | cut -d' ' -f2)"
echo "accepted: $location"

deadline=$((SECONDS + timeout))
while ((SECONDS < deadline)); do
  status="$(curl --fail-with-body --silent --show-error "$rentals$location" | jq -r .status)"
  echo "status: $status"
  case "$status" in
    CONFIRMED) exit 0 ;;
    REJECTED | FAILED) break ;;
  esac
  sleep 2
done
curl --silent --show-error "$rentals$location" | jq .
exit 1
