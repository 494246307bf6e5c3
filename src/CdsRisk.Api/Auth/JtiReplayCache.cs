using System.Collections.Concurrent;

namespace CdsRisk.Api.Auth;

/// <summary>CDS Hooks 2.0 §Trusting CDS Clients: a <c>jti</c> is accepted once per issuer until the token expires.</summary>
public sealed class JtiReplayCache(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);
    private long _nextSweep;

    /// <returns>False when this (issuer, jti) was already used and has not expired.</returns>
    public bool TryUse(string issuer, string jti, DateTimeOffset expiresAt)
    {
        var now = time.GetUtcNow();
        Sweep(now);
        var key = issuer + "\n" + jti;
        if (_seen.TryAdd(key, expiresAt))
        {
            return true;
        }

        // An expired entry not yet swept: the old token cannot be valid any more, so the jti may be reused.
        if (_seen.TryGetValue(key, out var previous) && previous < now && _seen.TryUpdate(key, expiresAt, previous))
        {
            return true;
        }

        return false;
    }

    private void Sweep(DateTimeOffset now)
    {
        var due = Interlocked.Read(ref _nextSweep);
        if (now.UtcTicks < due || Interlocked.CompareExchange(ref _nextSweep, now.AddMinutes(1).UtcTicks, due) != due)
        {
            return;
        }

        foreach (var (key, expiresAt) in _seen)
        {
            if (expiresAt < now)
            {
                _seen.TryRemove(key, out _);
            }
        }
    }
}
