namespace CdsRisk.Api.Hooks;

/// <summary>
/// The bytes of the hook call being answered (an <see cref="HttpContext"/> feature, valid until its response is written) and, when
/// they repeat a recent call, that call's kept answer (<see cref="Pipeline.HookAnswerMemo.TryRecall"/>).
/// </summary>
public sealed class HookCallBody(ReadOnlyMemory<byte> bytes, int maxDepth)
{
    public ReadOnlyMemory<byte> Bytes { get; } = bytes;

    /// <summary>The JSON depth the body was read with.</summary>
    public int MaxDepth { get; } = maxDepth;

    public Pipeline.RecalledAnswer? Recalled { get; set; }
}
