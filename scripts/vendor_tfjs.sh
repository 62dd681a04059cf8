#!/usr/bin/env bash
# Re-vendor TensorFlow.js from the npm registry: the minified bundle, its license and a VERSION note go into
# playground/web/static/tfjs/, which the app serves itself (no CDN). Usage: scripts/vendor_tfjs.sh [version]
set -euo pipefail
VERSION="${1:-4.22.0}"
DEST="$(cd "$(dirname "$0")/.." && pwd)/playground/web/static/tfjs"
APACHE=/usr/share/common-licenses/Apache-2.0     # the npm tarball ships no LICENSE file; Debian has the text
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

[ -f "$APACHE" ] || { echo "need the Apache-2.0 text at $APACHE (Debian: apt-get install base-files)" >&2; exit 1; }
(cd "$WORK" && npm pack --silent "@tensorflow/tfjs@$VERSION" >/dev/null && tar xzf ./*.tgz package)
LICENSE_FIELD="$(node -p "require('$WORK/package/package.json').license")"
[ "$LICENSE_FIELD" = "Apache-2.0" ] || { echo "tfjs $VERSION is licensed $LICENSE_FIELD, not Apache-2.0: check it" >&2; exit 1; }

mkdir -p "$DEST"
cp "$WORK/package/dist/tf.es2017.min.js" "$DEST/tf.min.js"
{
  echo "TensorFlow.js $VERSION (npm @tensorflow/tfjs, dist/tf.es2017.min.js), license: $LICENSE_FIELD."
  echo "The license notices found in the bundle follow the license text."
  echo
  cat "$APACHE"
  echo
  perl -0777 -ne 'my %seen; while (m{(/\*\*\s*\n\s*\*\s*\@license.*?\*/)}sg) { print "$1\n" unless $seen{$1}++ }' "$DEST/tf.min.js"
} > "$DEST/LICENSE"
{
  echo "@tensorflow/tfjs $VERSION"
  echo "file: tf.min.js (the package's dist/tf.es2017.min.js), $(wc -c < "$DEST/tf.min.js") bytes"
  echo "sha256: $(sha256sum "$DEST/tf.min.js" | cut -d' ' -f1)"
  echo "re-vendor: scripts/vendor_tfjs.sh $VERSION"
} > "$DEST/VERSION"
cat "$DEST/VERSION"
