// maeuld: the Maeul daemon.
#include "maeul/app/app.hpp"

int main(int argc, char** argv) { return maeul::app::run(argc, argv); }
