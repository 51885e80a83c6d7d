#!/usr/bin/env bash
# Debian packages the tests drive: Chromium and a CJK font (Playwright drives Debian's browser and
# never downloads one), docker-compose (validates docker-compose.yml; no engine needed), curl
# (runs the README's examples as written), and the readers of the formats the indexer converts:
# LibreOffice Writer headless (soffice, for .doc and .wps), Tesseract with its Simplified Chinese
# data and poppler's pdftoppm (OCR of scanned PDF pages).
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" || need+=(fonts-wqy-zenhei)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v soffice >/dev/null || need+=(libreoffice-writer-nogui)
command -v tesseract >/dev/null || need+=(tesseract-ocr)
ls /usr/share/tesseract-ocr/*/tessdata/chi_sim.traineddata >/dev/null 2>&1 || need+=(tesseract-ocr-chi-sim)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
command -v curl >/dev/null || need+=(curl)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "install-test-tools: missing ${need[*]} (install them with apt-get as root); those tests will skip" >&2
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
