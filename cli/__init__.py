"""The command line (`eks-access`): it depends on the core (``eks_access``) and the offline
runner (``offline``); neither depends on it."""
