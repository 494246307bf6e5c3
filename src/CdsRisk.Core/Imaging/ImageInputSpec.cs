namespace CdsRisk.Core.Imaging;

/// <summary>
/// The model's image grid and normalisation (docs/contracts.md §2; the model card's <c>image.grid</c> is the source):
/// each phase resampled to Depth × Height × Width, then z-scored with std floored at <see cref="MinStd"/> and clipped to ±<see cref="ClipLimit"/>.
/// </summary>
public sealed record ImageInputSpec(int Depth, int Height, int Width, float ClipLimit = 5f, float MinStd = 1e-6f)
{
    public static ImageInputSpec Default { get; } = new(32, 64, 64);

    /// <summary>From a model card grid [D, H, W].</summary>
    public static ImageInputSpec FromGrid(IReadOnlyList<int> grid) =>
        grid is [var d, var h, var w] && d > 0 && h > 0 && w > 0
            ? new ImageInputSpec(d, h, w)
            : throw new ArgumentException("the image grid must hold three positive sizes [D, H, W]", nameof(grid));

    public int VoxelsPerPhase => Depth * Height * Width;

    /// <summary>Length of the [4, D, H, W] tensor.</summary>
    public int TensorLength => 4 * VoxelsPerPhase;
}
