"""The git-backed registry: finding it, loading it at any revision, its history, the lock, and
the one transaction type that every write goes through (one operation, one commit). The only
package that runs git."""
