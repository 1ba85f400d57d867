"""Builders the tests share (conftest files hold only fixtures):

- ``world``: organizations, their users and their sign-in (``World``, ``Org``, ``Actor``), and
  seeding a fresh database through the services;
- ``stores``: the one store factory (API and service input) and teams;
- ``visits``: check-in bodies, ``Field`` (a store and a check-in in one org), and completing and
  submitting a visit over the API;
- ``actions``: ``Desk``, visits with next actions;
- ``audits``: submitted audits with before photos and their rectifications (``Tour``);
- ``forms``: answers for a published form, and form versions built in memory;
- ``images``: synthetic photos and hostile image files;
- ``api_keys``: API keys made by an admin over the API, and their request headers;
- ``summaries``: sample summary-card inputs.
"""
