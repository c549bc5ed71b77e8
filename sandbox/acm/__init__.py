"""ACM and the public CAs, as the sandbox stands in for them: the certificate authority that signs what an HTTPS
listener serves for its ACM certificate, and the bundle the sandbox's clients trust."""
