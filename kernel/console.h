// The console: every human line goes to COM1 and to the screen (VGA text mode by BIOS, the
// linear framebuffer by UEFI); machine lines (PTIBENCH records) go to serial, and to the screen
// only with screen=all, so the results table stays readable on a machine without a serial port.
#pragma once

#include "lib/format.h"
#include "lib/types.h"

namespace ptb::console {

void init_serial();
bool serial_present();
// Screen attachments (at most one is active).
void attach_vga_text(u64 cells_addr, u32 columns, u32 rows);
struct FramebufferDesc {
  u64 addr;
  u32 pitch, width, height;
  u8 bpp, red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
};
bool attach_framebuffer(const FramebufferDesc& fb);
const char* screen_kind();  // "vga-text", "framebuffer" or "none"
void set_machine_lines_on_screen(bool on);

// The screen alone (no-ops without one): its size in characters, clearing it, writing to it.
u32 screen_columns();
u32 screen_rows();
void screen_clear();
void screen_line(const TextBuf& t);

// Serial alone (a wide form the screen gets in another shape).
void serial_line(const char* s);
void serial_line(const TextBuf& t);
// Writes `s` followed by a line end to serial and screen.
void line(const char* s);
void line(const TextBuf& t);
// A machine-readable record: "PTIBENCH " + json + line end.
void record(const TextBuf& json);
// Raw text without a line end (progress lines).
void write(const char* s, usize n);
// Waits until every byte has left the UART.
void drain();

}  // namespace ptb::console
