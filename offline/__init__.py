"""Runs the real program under Pulumi's mock runtime and writes what `pulumi up` would create."""
