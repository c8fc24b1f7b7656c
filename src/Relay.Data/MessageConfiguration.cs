using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Relay.Data;

internal sealed class MessageConfiguration : IEntityTypeConfiguration<Message>
{
    public void Configure(EntityTypeBuilder<Message> builder)
    {
        builder.HasKey(m => m.Id);
        builder.Property(m => m.CollapseId).HasMaxLength(Message.CollapseIdMaxLength);
        builder.Property(m => m.IdempotencyKey).HasMaxLength(Message.IdempotencyKeyMaxLength);

        builder.HasOne<Account>()
            .WithMany()
            .HasForeignKey(m => m.SenderAccountId)
            .OnDelete(DeleteBehavior.Cascade);

        builder.HasMany(m => m.Deliveries)
            .WithOne()
            .HasForeignKey(d => d.MessageId)
            .OnDelete(DeleteBehavior.Cascade);

        // A sender's key names one message; a repeat finds it. Sealed sends (no sender) share one namespace of keys,
        // so nulls are not distinct here.
        builder.HasIndex(m => new { m.SenderAccountId, m.IdempotencyKey })
            .IsUnique()
            .AreNullsDistinct(false)
            .HasFilter("idempotency_key IS NOT NULL");

        // Sweeps: forgetting idempotency keys after a day, pruning expired messages.
        builder.HasIndex(m => m.CreatedAt).HasFilter("idempotency_key IS NOT NULL");
        builder.HasIndex(m => m.ExpiresAt);
    }
}
