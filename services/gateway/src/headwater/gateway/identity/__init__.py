"""Identity and access: who the caller is (authentication) and what they may do (authorisation).

- `credentials`: passwords (argon2), session ids, API tokens and JWT access tokens — generating and checking.
- `policy`: what each role may do on a route.
- `service`: the use cases (sign up, log in, users, tokens, projects, bootstrap) on the `gateway` schema.
- `guard`: the Litestar guard that authenticates every request and applies the policy.
- `audit`: the middleware that records every write.
- `cors`: the allow-list CORS middleware of the OLake UI.
"""
