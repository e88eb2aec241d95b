"""The HTML pages the web layer serves beyond the feeds: one module per page (subscribe,
confirm, register ...), each a pure `render_*` function over the config and its inputs,
with its Jinja2 template in `scheduler/templates/` extending `_page.html.j2`.

The web server (`scheduler.web`) wires routes to these; the daemon only wires the web
server.
"""
