fn main() {
    std::process::exit(leakscrub::cli::run());
}
