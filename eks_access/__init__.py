"""eks-access core: config model, ARNs, aws-auth and RBAC rendering, access evaluation.

Plain Python from data to data, with no Pulumi import, so every rule here is testable in
microseconds and usable by the command line without the Pulumi CLI.
"""
