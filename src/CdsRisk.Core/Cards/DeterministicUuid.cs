using System.Security.Cryptography;
using System.Text;

namespace CdsRisk.Core.Cards;

/// <summary>Name-based UUIDs (RFC 9562 §5.5, version 5, SHA-1): the same name always gives the same uuid.</summary>
public static class DeterministicUuid
{
    /// <summary>Namespace of every uuid this service derives (cards, suggestions, bundle entries).</summary>
    public static readonly Guid CdsRiskNamespace = new("5d0c4a8e-3b9f-4a51-9c37-7f0e2b6d1a44");

    [ThreadStatic]
    private static List<DerivedUuid>? t_recording;

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
        var result = new Guid(uuid, bigEndian: true);
        t_recording?.Add(new DerivedUuid(nameSpace, name, result));
        return result;
    }

    /// <summary>
    /// Notes every uuid this thread derives until the recording is disposed, with the name it came from, so that a caller can
    /// derive the same uuids for another name (the hook answer memo does this for each new hookInstance).
    /// </summary>
    public static NameRecording Record() => new();

    /// <summary>A uuid and the name it was derived from.</summary>
    public readonly record struct DerivedUuid(Guid NameSpace, string Name, Guid Uuid);

    /// <summary>The uuids derived on this thread since <see cref="Record"/>; nested recordings each see their own.</summary>
    public sealed class NameRecording : IDisposable
    {
        private readonly List<DerivedUuid>? _outer = t_recording;
        private readonly List<DerivedUuid> _derived = [];

        internal NameRecording() => t_recording = _derived;

        public IReadOnlyList<DerivedUuid> Derived => _derived;

        public void Dispose() => t_recording = _outer;
    }

    public static Guid Create(string name) => Create(CdsRiskNamespace, name);
}
