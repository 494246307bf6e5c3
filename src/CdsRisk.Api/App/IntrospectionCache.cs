using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.App;

/// <summary>
/// Reuses an active introspection answer (RFC 7662) for the same token for at most <see cref="SmartAppOptions.IntrospectionCacheSeconds"/>
/// and never past the token's <c>exp</c>; an inactive answer is never reused. Keyed by a SHA-256 of the EHR and the token, so no
/// token is held as a key; in memory, at most <see cref="MaxEntries"/> entries.
/// </summary>
public sealed class IntrospectionCache(IOptions<SmartAppOptions> options, TimeProvider time)
{
    public const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, (SmartIntrospection Answer, DateTimeOffset Until)> _entries = new(StringComparer.Ordinal);

    public int Count => _entries.Count;

    public async Task<SmartIntrospection> GetAsync(string issuer, string token, Func<CancellationToken, Task<SmartIntrospection>> introspect, CancellationToken cancellationToken)
    {
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(issuer + "\n" + token)));
        var now = time.GetUtcNow();
        if (_entries.TryGetValue(key, out var held))
        {
            if (held.Until > now) return held.Answer;
            _entries.TryRemove(key, out _);
        }

        var answer = await introspect(cancellationToken);
        var seconds = options.Value.IntrospectionCacheSeconds;
        if (answer.Active && seconds > 0)
        {
            var until = now.AddSeconds(seconds);
            if (answer.Exp is { } exp && DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(exp, 0, 253402300799)) is var expires && expires < until) until = expires;
            if (until > now)
            {
                MakeRoom(now);
                _entries[key] = (answer, until);
            }
        }

        return answer;
    }

    private void MakeRoom(DateTimeOffset now)
    {
        if (_entries.Count < MaxEntries) return;
        foreach (var stale in _entries.Where(e => e.Value.Until <= now).Select(e => e.Key).ToList()) _entries.TryRemove(stale, out _);
        if (_entries.Count < MaxEntries) return;
        // Still full of live answers: drop the tenth that ends first; those sessions just ask the EHR again.
        foreach (var first in _entries.OrderBy(e => e.Value.Until).Take(MaxEntries / 10).Select(e => e.Key).ToList()) _entries.TryRemove(first, out _);
    }
}
