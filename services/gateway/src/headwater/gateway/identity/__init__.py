"""Identity and access: who the caller is (authentication) and what they may do (authorisation).

- `credentials`: passwords (argon2), session ids, API tokens and JWT access tokens — generating and checking.
- `policy`: what each role may do on a route.
- `service`: `Identity`, the use cases on the `gateway` schema, one part per module: `users` (create, sign up,
  read, change), `logins` (passwords, sessions, access tokens), `authentication` (whose credentials these are,
  cached), `tokens` (API tokens), `projects` (membership), `housekeeping` (pruning); `superuser` makes the
  bootstrap superuser.
- `guard`: the Litestar guard that authenticates every request and applies the policy.
- `audit`: the middleware that records every write.
- `cors`: the allow-list CORS middleware of the OLake UI.
"""
