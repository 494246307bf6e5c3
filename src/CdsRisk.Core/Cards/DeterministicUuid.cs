using System.Security.Cryptography;
using System.Text;

namespace CdsRisk.Core.Cards;

/// <summary>Name-based UUIDs (RFC 9562 §5.5, version 5, SHA-1): the same name always gives the same uuid.</summary>
public static class DeterministicUuid
{
    /// <summary>Namespace of every uuid this service derives (cards, suggestions, bundle entries).</summary>
    public static readonly Guid CdsRiskNamespace = new("5d0c4a8e-3b9f-4a51-9c37-7f0e2b6d1a44");

    public static Guid Create(Guid nameSpace, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var input = new byte[16 + nameBytes.Length];
        nameSpace.TryWriteBytes(input, bigEndian: true, out _);
        nameBytes.CopyTo(input, 16);

        Span<byte> hash = stackalloc byte[20];
#pragma warning disable CA5350 // SHA-1 is what RFC 9562 prescribes for version 5; this is naming, not security.
        SHA1.HashData(input, hash);
#pragma warning restore CA5350
        var uuid = hash[..16];
        uuid[6] = (byte)((uuid[6] & 0x0F) | 0x50);
        uuid[8] = (byte)((uuid[8] & 0x3F) | 0x80);
        return new Guid(uuid, bigEndian: true);
    }

    public static Guid Create(string name) => Create(CdsRiskNamespace, name);
}
