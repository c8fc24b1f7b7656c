using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Relay.Data.Migrations
{
    /// <inheritdoc />
    public partial class DeviceKeys : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<byte[]>(
                name: "public_key",
                table: "devices",
                type: "bytea",
                nullable: true);

            migrationBuilder.AddColumn<byte[]>(
                name: "public_key_signature",
                table: "devices",
                type: "bytea",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ciphertext",
                table: "deliveries",
                type: "text",
                nullable: true);

            migrationBuilder.AddCheckConstraint(
                name: "ck_devices_public_key",
                table: "devices",
                sql: "(public_key IS NULL AND public_key_signature IS NULL) OR (length(public_key) = 32 AND length(public_key_signature) = 64)");

            migrationBuilder.CreateIndex(
                name: "ix_deliveries_own_ciphertext",
                table: "deliveries",
                column: "message_id",
                filter: "ciphertext IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropCheckConstraint(
                name: "ck_devices_public_key",
                table: "devices");

            migrationBuilder.DropIndex(
                name: "ix_deliveries_own_ciphertext",
                table: "deliveries");

            migrationBuilder.DropColumn(
                name: "public_key",
                table: "devices");

            migrationBuilder.DropColumn(
                name: "public_key_signature",
                table: "devices");

            migrationBuilder.DropColumn(
                name: "ciphertext",
                table: "deliveries");
        }
    }
}
