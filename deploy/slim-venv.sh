#!/bin/sh
# Trim an installed virtualenv to what Tollgate runs (the image's build stage calls it on /opt/venv).
# Each removal is something the running gateway never reads:
# - __pycache__ and *.pyi: the image does not write bytecode, and stubs are for type checkers;
# - *.map next to bundled JS and CSS (the API docs' Swagger UI, DRF's pages): only browser developer tools read them;
# - the translation catalogues (locale/*/LC_MESSAGES): USE_I18N is off, so none is ever loaded;
# - django.contrib.gis and Twisted's test packages (Twisted comes with daphne): never imported;
# - botocore's service models but STS and SSO: Tollgate signs Bedrock calls itself (SigV4Auth) and botocore only
#   resolves credentials, which for assumed, web-identity (EKS) and SSO roles calls STS, SSO and SSO-OIDC;
# - symbols in shared objects (strip --strip-unneeded, when strip is there): debugging information only.
set -eu
venv="${1:?usage: slim-venv.sh VENV}"
site="$(find "$venv/lib" -maxdepth 2 -type d -name site-packages | head -n 1)"
[ -d "$site" ] || { echo "no site-packages under $venv" >&2; exit 1; }

find "$site" -depth -type d \( -name __pycache__ -o -name LC_MESSAGES \) -exec rm -rf {} +
find "$site" -type f \( -name "*.pyi" -o -name "*.js.map" -o -name "*.css.map" \) -delete
rm -rf "$site/django/contrib/gis"
if [ -d "$site/twisted" ]; then
  find "$site/twisted" -depth -type d -name test -exec rm -rf {} +
fi
if [ -d "$site/botocore/data" ]; then
  find "$site/botocore/data" -mindepth 1 -maxdepth 1 -type d ! -name sts ! -name sso ! -name sso-oidc -exec rm -rf {} +
fi
if command -v strip >/dev/null 2>&1; then
  find "$site" -type f -name "*.so*" -exec strip --strip-unneeded {} +
fi
