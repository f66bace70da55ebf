"""gunicorn's settings for the app (gunicorn reads ./gunicorn.conf.py from where it is started: the README's
`gunicorn -w 4 -b 0.0.0.0:8000 wsgi:app` and the benchmarks' server both start here).

* Every response of gunicorn carries ``Server: gunicorn`` (its Response writes the module's SERVER before the
  app's headers; an app's own Server header would come second, not instead) and the app sees
  ``SERVER_SOFTWARE = gunicorn/<version>``. gunicorn has no setting for either, so both are replaced here,
  before any worker is forked: the answers say ``Server: huiyuan`` and name no server software or version.
* Request lines up to 8190 bytes (gunicorn's maximum; its default 4094) reach the app, which refuses a URL
  longer than ``saas.security.MAX_URL_LENGTH`` itself with a translated 414 (JSON under /api/). Longer lines
  still get gunicorn's own bare 414.
* No control socket: gunicorn 27 opens one at a fixed path in the home directory, shared by every gunicorn
  of the machine (two servers, or a restarted master, would clash); nothing here uses it.
"""

import gunicorn.http.wsgi

SERVER_NAME = "huiyuan"
gunicorn.http.wsgi.SERVER = SERVER_NAME
gunicorn.http.wsgi.SERVER_SOFTWARE = SERVER_NAME

limit_request_line = 8190
control_socket_disable = True
